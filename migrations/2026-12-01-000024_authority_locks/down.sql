DROP FUNCTION lock_actor_chains(uuid[]);
