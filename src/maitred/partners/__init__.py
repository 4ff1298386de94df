"""Partners: who talks to maitred, how they authenticate, and how maitred reaches them."""
