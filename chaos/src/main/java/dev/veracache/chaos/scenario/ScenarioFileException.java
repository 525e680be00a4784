package dev.veracache.chaos.scenario;

import java.util.List;

/**
 * A scenario file that cannot be run: every problem found in it, one line each, each naming the file, the scenario
 * (index and id), the field and the value as written, and what is allowed. The CLI prints the lines, without a stack
 * trace.
 */
public final class ScenarioFileException extends IllegalArgumentException {

  private final List<String> problems;

  ScenarioFileException(List<String> problems) {
    super(String.join("\n", problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a ScenarioFileException needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  /** One line per problem, in file order. */
  public List<String> problems() {
    return problems;
  }
}
