"""Adapters that feed the detection channels: the IMAP mailbox and the intake commands."""
