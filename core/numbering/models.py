from django.db import models

from core.numbering import KEY_PATTERN


class Counter(models.Model):
    """The last number given of one gapless sequence (key and year) of this schema. The
    transaction that takes a number keeps the row locked until it ends (core.numbering)."""

    pk = models.CompositePrimaryKey("key", "year")
    key = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()  # NO_YEAR (0): one sequence for all years
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(key__regex=KEY_PATTERN), name="numbering_counter_key_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(year__lte=9999), name="numbering_counter_year_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}:{self.year}:{self.last}"
