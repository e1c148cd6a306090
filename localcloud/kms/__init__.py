"""KMS in the local cloud: keys in templates, and the resources that encrypt with them."""
