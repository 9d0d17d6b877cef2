"""The embedded local stack: DynamoDB Local, moto, the table from template.yaml, schedules."""
