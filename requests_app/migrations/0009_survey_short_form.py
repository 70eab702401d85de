"""Issue 12: the satisfaction survey gets a short default form (one required overall rating,
optional ease, speed and comment) beside the eleven statements, which stay as the agency's
"extended" form (SurveySettings, one row per agency; none = short).

Answers given so far were all the extended form: they are marked so here, and 0010 fills their
overall rating (the first statement, "Overall, I am satisfied…") and their score (the mean of
the eleven answers, the satisfaction figure they always had) before 0011 makes both required."""

import django.contrib.postgres.fields
from django.db import migrations, models

FORMS = [
    ("short", "Short: one overall rating, details optional"),
    ("extended", "Extended: the eleven statements of the CRM policy"),
]


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0008_appointments_app")]

    operations = [
        migrations.CreateModel(
            name="SurveySettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "form",
                    models.CharField(
                        choices=FORMS,
                        default="short",
                        max_length=10,
                        verbose_name="satisfaction survey form",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("form__in", ["short", "extended"])),
                        name="surveysettings_form_known",
                    )
                ],
            },
        ),
        migrations.RemoveConstraint(model_name="surveyresponse", name="survey_has_eleven_answers"),
        # Every existing answer is the extended form.
        migrations.AddField(
            model_name="surveyresponse",
            name="form",
            field=models.CharField(choices=FORMS, default="extended", max_length=10),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="surveyresponse",
            name="overall",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="surveyresponse",
            name="score",
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name="surveyresponse",
            name="ease",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="surveyresponse",
            name="speed",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="surveyresponse",
            name="answers",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.PositiveSmallIntegerField(), blank=True, default=list, size=11
            ),
        ),
    ]
