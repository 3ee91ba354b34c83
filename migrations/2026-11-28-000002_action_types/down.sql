DROP TABLE action_types;
