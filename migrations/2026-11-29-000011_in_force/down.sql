DROP FUNCTION in_force(text, date, date);
