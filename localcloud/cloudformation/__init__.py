"""CloudFormation in the local cloud: change sets as the CDK CLI uses them, the template
engine's fixes, and the base of the resource models moto lacks."""
