"""The customer portal: self-registration, my profile, my cases (issue 6, item 6)."""
