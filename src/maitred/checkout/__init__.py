"""Channel orders through the POS: the use cases, the bounded waits and the timers."""
