"""The derived layer: red flags, page aggregates, investigations, the search index and the OCDS export,
built from the public database. Imports only the ground floor."""
