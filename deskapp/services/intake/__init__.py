"""Detection channels: incidents recorded from email and monitoring without anyone typing."""
