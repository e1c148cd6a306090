"""What a fine-tuning run costs: the price table, the estimate before a run, the bill after it.

Standard library only: the CLI imports this package, and the validation and cost Lambdas carry
it in their bundles (``stacks/workflow/validator_code.py``), so one set of prices and one
arithmetic serve all three.
"""
