"""User administration (admin only): list and search users, change roles, disable, enable."""
