"""Plans as forms: QuestionnaireResponse validation, $populate, $extract, narratives, $document."""
