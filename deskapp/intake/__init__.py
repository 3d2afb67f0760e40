"""Detection channels that record incidents without anyone typing (monitoring, email)."""
