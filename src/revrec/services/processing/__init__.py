"""The scheduled jobs that move staged rows into the subledger and post revenue (SPEC §5)."""
