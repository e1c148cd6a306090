"""EC2 in the local cloud: the security group resources a VPC stack deploys."""
