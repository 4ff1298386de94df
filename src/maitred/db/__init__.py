"""Storage: engines, the base model, the group-commit writer, migrations."""
