from django.db import models


class Visit(models.Model):
    """One request to `/`: the smallest write that proves the database works."""

    at = models.DateTimeField(auto_now_add=True)
