"""Worker processes: the delivery loop and periodic sweeps."""
