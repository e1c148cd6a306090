"""AWS Budgets in the local cloud: ``AWS::Budgets::Budget`` through CloudFormation."""
