"""One package per partner contract; the only code that knows a wire format."""
