"""The licence check: the accounts database and the HTTPS ``auth.cgi`` service."""
