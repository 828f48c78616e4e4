"""What a person reads of a run: the summary, the HTML report, any figure by name. May import
studies and everything below them."""
