"""Real local servers that speak outside services' protocols, for the tests."""
