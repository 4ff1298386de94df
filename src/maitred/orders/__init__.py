"""POS orders and their checks, and the pos_order events each change produces."""
