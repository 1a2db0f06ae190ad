"""Benefits: usage metering now; lineage, the credit ledger and payouts to come (DESIGN.md)."""
