"""nfvo: an NFV orchestrator onboarding service."""
