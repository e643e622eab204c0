// Run once by the mongo image on an empty volume (docker-entrypoint-initdb.d), as the root user:
// the user the services connect as, limited to their database. Its password comes from the
// environment of the mongo container (MONGO_OPSEVAL_PASSWORD), never from this file.
const password = process.env.MONGO_OPSEVAL_PASSWORD;
if (!password) {
  throw new Error("MONGO_OPSEVAL_PASSWORD is not set");
}
db.getSiblingDB("opseval").createUser({
  user: "opseval",
  pwd: password,
  roles: [{ role: "readWrite", db: "opseval" }],
});
