"""Channel orders: an online order priced, committed and fired through the venue's POS."""
