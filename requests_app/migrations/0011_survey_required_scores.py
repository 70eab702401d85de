"""The overall rating and the score are now known for every answer: required, and checked
against the form (short: no statements; extended: eleven, no short-form details)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0010_survey_scores")]

    operations = [
        migrations.AlterField(
            model_name="surveyresponse",
            name="overall",
            field=models.PositiveSmallIntegerField(),
        ),
        migrations.AlterField(
            model_name="surveyresponse",
            name="score",
            field=models.FloatField(),
        ),
        migrations.AddConstraint(
            model_name="surveyresponse",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("answers__len", 0), ("form", "short")),
                    models.Q(
                        ("answers__len", 11),
                        ("ease__isnull", True),
                        ("form", "extended"),
                        ("speed__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="survey_answers_match_form",
            ),
        ),
        migrations.AddConstraint(
            model_name="surveyresponse",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("overall__gte", 1),
                    ("overall__lte", 5),
                    models.Q(
                        ("ease__isnull", True),
                        models.Q(("ease__gte", 1), ("ease__lte", 5)),
                        _connector="OR",
                    ),
                    models.Q(
                        ("speed__isnull", True),
                        models.Q(("speed__gte", 1), ("speed__lte", 5)),
                        _connector="OR",
                    ),
                    ("score__gte", 1),
                    ("score__lte", 5),
                ),
                name="survey_ratings_1_to_5",
            ),
        ),
    ]
