"""The Mozrest contracts (RMS and POS legs), spelled as the partner spells them."""
