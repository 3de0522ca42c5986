"""Write clean.jsonl: clean CAMEL-convention role-play dialogues written for this project.

Each dialogue is (assistant role, user role, task, specified task, [(instruction, input,
solution), ...]); the user ends with the done token. Two use the variant markers
``Solution&Action:`` and a bare ``CAMEL_TASK_DONE``. Run: python make_clean.py
"""

import json
from pathlib import Path

DIALOGUES = [
    ("Nutritionist", "Marathon Runner", "Plan meals for marathon training",
     "Draft a one-week meal plan for the final taper week before a marathon.",
     [("Set a daily carbohydrate target for the taper week.", "Runner weighs 68 kg.",
       "Aim for 7 to 8 grams of carbohydrate per kilogram, about 500 grams a day for 68 kg."),
      ("Suggest a breakfast that meets a quarter of that target.", "None",
       "Porridge with a banana, honey and a slice of toast gives roughly 125 grams."),
      ("Plan the evening meal for the night before the race.", "Race starts at 9 am.",
       "Eat plain pasta with tomato sauce and chicken before 7 pm and avoid high-fibre sides.")]),
    ("Structural Engineer", "Homeowner", "Check a wall before removing it",
     "Decide whether the wall between kitchen and dining room can be removed safely.",
     [("List the signs that the wall is load-bearing.", "Two-storey brick house.",
       "It is load-bearing if joists rest on it, it runs across the joists, or a wall sits above it."),
      ("Explain what support replaces a load-bearing wall.", "Opening of 3.5 metres.",
       "A steel beam on padstones at each end, sized by calculation for the 3.5 metre span."),
      ("Name the approvals needed before work starts.", "Located in England.",
       "Building regulations approval is required, and a party wall notice if the wall is shared.")]),
    ("Data Scientist", "Shop Manager", "Forecast weekly demand",
     "Build a simple forecast of next month's weekly sales of umbrellas.",
     [("Choose a forecasting method for two years of weekly sales.", "Sales rise in autumn.",
       "Use seasonal exponential smoothing with a yearly season, which captures the autumn rise."),
      ("Describe how to check the forecast's accuracy.", "None",
       "Hold out the last eight weeks, forecast them, and report the mean absolute error."),
      ("Explain how rain forecasts could improve it.", "Weather data is available.",
       "Add expected rainfall as a regressor so weeks with heavy rain predict higher sales.")]),
    ("Translator", "Museum Curator", "Translate exhibit labels",
     "Translate five short exhibit labels for a Roman pottery display into Spanish.",
     [("Translate the label 'Oil lamp, second century'.", "None",
       "Lámpara de aceite, siglo II."),
      ("Translate 'Amphora used to transport wine'.", "None",
       "Ánfora utilizada para transportar vino."),
      ("Translate 'Found near the river harbour in 1962'.", "None",
       "Hallada cerca del puerto fluvial en 1962.")]),
    ("Python Programmer", "Teacher", "Automate grading",
     "Write a Python script that averages quiz scores from a CSV file per student.",
     [("Read the CSV file with student names and scores.", "Columns: name, quiz, score.",
       "Use csv.DictReader to read rows and convert the score field to float."),
      ("Compute each student's average score.", "None",
       "Collect scores in a dictionary of lists keyed by name, then divide each sum by its count."),
      ("Write the averages to a new CSV file.", "File name: averages.csv.",
       "Open averages.csv for writing and use csv.writer to write name and average per row.")]),
    ("Travel Agent", "Retired Teacher", "Plan a rail journey",
     "Plan a ten-day rail trip from Lisbon to Vienna with three stops.",
     [("Pick three cities to stop in along the way.", "Interested in architecture.",
       "Madrid, Barcelona and Milan offer notable architecture and good rail connections."),
      ("Suggest how many nights to spend in each city.", "Ten days in total.",
       "Two nights in Madrid, three in Barcelona, two in Milan and three in Vienna."),
      ("Recommend a rail pass or single tickets.", "Travelling in May.",
       "Single tickets booked early are cheaper for four legs than a multi-country rail pass.")]),
    ("Accountant", "Freelance Designer", "Prepare for tax season",
     "Organise a freelancer's records for filing annual self-assessment taxes.",
     [("List the records needed for income.", "Works for six clients.",
       "Keep every invoice, bank statements showing payments, and any platform payout reports."),
      ("Explain which expenses can be claimed.", "Works from home.",
       "Claim software, equipment, a share of home utilities and travel to client meetings."),
      ("Propose a monthly routine to stay organised.", "None",
       "At each month end, match invoices to payments and file receipts in one dated folder.")]),
    ("Chemist", "Home Brewer", "Improve beer clarity",
     "Reduce haze in a home-brewed pale ale without changing its flavour.",
     [("Explain the main causes of haze in pale ale.", "None",
       "Haze comes mostly from protein-polyphenol complexes, yeast in suspension and starch."),
      ("Recommend a fining agent for the kettle.", "Five-gallon batch.",
       "Add one Irish moss tablet in the last fifteen minutes of the boil."),
      ("Describe a cold-crash step after fermentation.", "Fridge reaches 2 °C.",
       "Chill the fermenter to 2 °C for 48 hours so yeast and proteins settle before bottling.")]),
    ("Gardener", "Primary School Teacher", "Start a school garden",
     "Set up a small vegetable garden that pupils can tend during the spring term.",
     [("Choose vegetables that grow quickly in spring.", "Term lasts twelve weeks.",
       "Radishes, lettuce and peas all mature within the twelve weeks of the term."),
      ("Plan the layout for four raised beds.", "Each bed is 1 by 2 metres.",
       "Give one bed to each crop and keep the fourth for herbs, with paths wide enough for pupils."),
      ("Set a weekly watering rota.", "Thirty pupils.",
       "Pairs of pupils water on set days, so each pair waters once every three weeks.")]),
    ("Financial Analyst", "Startup Founder", "Estimate runway",
     "Estimate how many months of runway a startup has and how to extend it.",
     [("Calculate runway from the current figures.", "Cash 600,000; monthly burn 50,000.",
       "Runway is 600,000 divided by 50,000, which is twelve months."),
      ("Identify two ways to extend the runway.", "Team of eight.",
       "Delay two planned hires and renegotiate the office lease to cut burn by about 15,000."),
      ("Compute the new runway after those savings.", "None",
       "With burn at 35,000, runway becomes about seventeen months.")]),
]
VARIANTS = {1, 6}  # these use "Solution&Action:" and a bare CAMEL_TASK_DONE


def main() -> None:
    out = Path(__file__).with_name("clean.jsonl")
    with out.open("w", encoding="utf-8") as fh:
        for n, (asst, user, task, spec, steps) in enumerate(DIALOGUES):
            sol = "Solution&Action:" if n in VARIANTS else "Solution:"
            done = "CAMEL_TASK_DONE" if n in VARIANTS else "<CAMEL_TASK_DONE>"
            obj = {"id": f"camel-clean-{n:02d}", "role_1": asst, "role_2": user,
                   "original_task": task, "specified_task": spec, "termination_reason": done}
            k = 0
            for ins, inp, answer in steps:
                k += 1
                obj[f"message_{k}"] = {"role_name": user, "role_type": "USER",
                                       "content": f"Instruction: {ins}\nInput: {inp}"}
                k += 1
                obj[f"message_{k}"] = {"role_name": asst, "role_type": "ASSISTANT",
                                       "content": f"{sol} {answer} Next request."}
            obj[f"message_{k + 1}"] = {"role_name": user, "role_type": "USER", "content": done}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
