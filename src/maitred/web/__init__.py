"""HTTP plumbing every route shares: the runtime and caller dependencies, the body rule,
rate limits and validation errors in the contract's shape."""
