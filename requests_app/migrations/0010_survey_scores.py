"""Fill the overall rating and the score of the answers given before the short form (all of
them the eleven statements): overall = the first statement, score = the mean of the eleven, so
every figure shown before stays the same."""

from django.db import migrations
from django.db.models.expressions import RawSQL


def fill(apps, schema_editor):
    SurveyResponse = apps.get_model("requests_app", "SurveyResponse")
    SurveyResponse.objects.filter(score__isnull=True).update(
        overall=RawSQL("answers[1]", []),
        score=RawSQL("(SELECT avg(x) FROM unnest(answers) AS x)", []),
    )


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0009_survey_short_form")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
