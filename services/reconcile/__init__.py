"""The reconcile service: decides accepted, rejected, dead-lettered or duplicate for each record."""
