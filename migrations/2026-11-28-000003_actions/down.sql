DROP TABLE status_changes;
DROP TABLE responses;
DROP TABLE sources;
DROP TABLE designations;
DROP TABLE actions;
