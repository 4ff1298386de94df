"""Partner simulators: real HTTP servers playing the other side of each contract."""
