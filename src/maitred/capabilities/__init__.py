"""What each partner's API can do at each venue: the capability report (spec decision 15)."""
