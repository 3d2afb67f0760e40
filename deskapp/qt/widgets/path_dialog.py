"""A file chooser that asks for a path without a nested event loop."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import QDir
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget


class PathDialog(QFileDialog):
    """Asks for a file to read or write, without a nested event loop.

    Qt's own dialog (not the platform's), so that it behaves alike everywhere and tests can
    drive it; tests that do not care replace ``ask`` outright.
    """

    @classmethod
    async def ask(cls, parent: QWidget, *, title: str, filters: list[str],
                  start: Path | str = "", save: bool = False,
                  default_suffix: str = "") -> Path | None:
        """Show the dialog and wait for a path; None if the user cancelled.

        Args:
            parent: the window it belongs to.
            title: its window title.
            filters: name filters such as ``"CSV files (*.csv)"``; the first is selected.
            start: a folder, or a file name to suggest.
            save: ask for a file to write (confirming an overwrite) rather than one to read.
            default_suffix: added to a typed name without an extension, when saving.
        """
        dialog = cls(parent, title, str(start or QDir.homePath()))
        dialog.setObjectName("pathDialog")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilters(filters)
        if save:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
            if default_suffix:
                dialog.setDefaultSuffix(default_suffix)
            # The suffix follows the chosen format, so "report" becomes report.xlsx there.
            dialog.filterSelected.connect(
                lambda chosen: dialog.setDefaultSuffix(_suffix_of(chosen) or default_suffix))
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        done: asyncio.Future[Path | None] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            files = dialog.selectedFiles()
            if not done.done():
                done.set_result(Path(files[0]) if result == QDialog.DialogCode.Accepted
                                and files else None)

        dialog.finished.connect(finished)
        dialog.open()  # open(), not exec(): a nested event loop would stall asyncio
        try:
            return await done
        finally:
            with contextlib.suppress(RuntimeError):  # the parent may be gone already
                dialog.finished.disconnect(finished)
                dialog.hide()
                dialog.deleteLater()


def _suffix_of(name_filter: str) -> str:
    """``xlsx`` for ``"Excel workbook (*.xlsx)"``."""
    inside = name_filter.partition("(*.")[2]
    return inside.split(")")[0].split()[0] if inside else ""
