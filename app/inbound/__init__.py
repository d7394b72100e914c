"""Email-to-case, web-to-case, case attachments and the solutions used on cases."""
