{% test non_negative(model, column_name) %}
-- Money and counts never go below zero.
select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}
