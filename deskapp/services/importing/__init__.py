"""Imports of incident history from other tools: a ServiceNow incident event log so far."""

from deskapp.services.importing.servicenow import (
    ImportProgress,
    ImportReport,
    ImportStage,
    import_servicenow,
)
from deskapp.services.importing.servicenow_log import ImportProblem

__all__ = ["ImportProblem", "ImportProgress", "ImportReport", "ImportStage",
           "import_servicenow"]
