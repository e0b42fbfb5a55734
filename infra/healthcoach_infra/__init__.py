"""The AWS CDK app of HealthCoach Realtime: one stack, one construct per concern."""
