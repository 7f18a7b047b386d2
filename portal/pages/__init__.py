"""Customer pages that gather several apps: the landing page, the organization chooser and overview."""
