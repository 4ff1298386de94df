"""The RBI contract (seed 004, contracts.md §2): the channel API maitred offers ordering channels,
and the POS vendor side it plays toward a POS (price, commit, fire, events, store status)."""
