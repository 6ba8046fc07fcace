"""The interventions domain."""
