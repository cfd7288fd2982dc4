"""The ground floor: config, errors, Thai helpers, schema, files. Imports nothing of ours above it."""
