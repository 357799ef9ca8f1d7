/**
 * A name for a service created without --name, as docker makes one:
 * "<adjective>_<surname>", the surnames those of scientists and engineers.
 * It fits the API's service names (letters, digits, '-' and '_').
 */
const adjectives = [
  "agile", "bold", "brave", "bright", "calm", "clever", "eager", "fervent", "gentle", "happy",
  "keen", "kind", "lucid", "merry", "nimble", "patient", "quiet", "serene", "sharp", "steady",
  "swift", "tender", "upbeat", "vibrant", "wise", "witty", "zealous", "modest", "jolly", "humble",
];
const surnames = [
  "hopper", "lovelace", "turing", "curie", "noether", "shannon", "dijkstra", "knuth", "liskov", "hamilton",
  "goodall", "franklin", "meitner", "ramanujan", "tesla", "euler", "gauss", "germain", "hypatia", "johnson",
  "kare", "lamarr", "mccarthy", "ritchie", "thompson", "torvalds", "wozniak", "yalow", "babbage", "bell",
];

export function generateServiceName(random: () => number = Math.random): string {
  const pick = (list: string[]) => list[Math.floor(random() * list.length)]!;
  return `${pick(adjectives)}_${pick(surnames)}`;
}
