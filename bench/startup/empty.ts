// Start-up benchmark: the empty program (the baseline). bench/startup.ts runs it.
